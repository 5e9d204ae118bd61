import type { PrepareCompilerOptions } from '@cubejs-backend/schema-compiler';

/**
 * Stand-in for Cube's Rust binding (@cubejs-backend/native), which cannot be installed here.
 *
 * Without it prepareCompiler would build `new NativeInstance()`, whose first use loads the binary.
 * The compiler touches the instance in exactly two places (schema-compiler 1.7.43):
 * - DataSchemaCompiler.doCompile() always calls YamlCompiler.initFromPythonContext(), which calls
 *   `newJinjaEngine(options)` even when no file is templated, so that must return an engine;
 * - `loadPythonContext(fileName, content)` is called only when the model has a globals.py.
 * Jinja-templated YAML and Python need the binding, so the engine and the loader refuse with a
 * message that says so, instead of failing deep inside the compiler with a missing-binary error.
 */
export type CompilerNativeInstance = NonNullable<PrepareCompilerOptions['nativeInstance']>;

export class NativeFeatureUnavailableError extends Error {
  constructor(feature: string, fileName?: string) {
    super(
      `${feature}${fileName ? ` in ${fileName}` : ''} needs Cube's native binding (@cubejs-backend/native), ` +
        'which this embedded compiler runs without: write the model as plain YAML (no Jinja, no Python)',
    );
    this.name = 'NativeFeatureUnavailableError';
  }
}

interface JinjaEngineLike {
  loadTemplate(templateName: string, templateContent: string): void;
  renderTemplate(templateName: string, context: unknown, pythonContext: Record<string, unknown> | null): Promise<string>;
}

const refusingJinjaEngine: JinjaEngineLike = {
  loadTemplate(templateName) {
    throw new NativeFeatureUnavailableError('A Jinja template', templateName);
  },
  async renderTemplate(templateName) {
    throw new NativeFeatureUnavailableError('A Jinja template', templateName);
  },
};

const refusingNativeInstance = {
  newJinjaEngine(): JinjaEngineLike {
    return refusingJinjaEngine;
  },
  async loadPythonContext(fileName: string): Promise<never> {
    throw new NativeFeatureUnavailableError('Python (globals.py)', fileName);
  },
};

/**
 * The object handed to prepareCompiler. NativeInstance is a class with protected members, so a
 * structural object needs one cast; the methods above are the whole surface the compiler uses.
 */
export function createNativeInstance(): CompilerNativeInstance {
  return refusingNativeInstance as unknown as CompilerNativeInstance;
}
