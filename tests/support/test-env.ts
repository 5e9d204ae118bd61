import os from 'node:os';
import path from 'node:path';

/**
 * Loaded before every test file (vitest.config.ts setupFiles). Every test that builds with dbt gets
 * a fixed test pseudonym key (CRM_PSEUDONYM_KEY), never a developer's real one from the shell, and
 * nothing a test runs can generate a development key in the real ~/.config: XDG_CONFIG_HOME points
 * at a folder under the system temp dir. A test that wants its own key sets CRM_PSEUDONYM_KEY itself.
 */
export const TEST_PSEUDONYM_KEY = 'test-only-pseudonym-key-0123456789abcdef0123456789abcdef';

process.env.CRM_PSEUDONYM_KEY = TEST_PSEUDONYM_KEY;
delete process.env.CRM_PSEUDONYM_KEY_FILE;
delete process.env.CRM_ENV;
process.env.XDG_CONFIG_HOME = path.join(os.tmpdir(), 'crm-warehouse-tests-config');
