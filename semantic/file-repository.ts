import fs from 'node:fs/promises';
import path from 'node:path';

/** One model file as Cube's compiler reads it (the shape of @cubejs-backend/shared's FileContent). */
export interface ModelFile {
  fileName: string;
  content: string;
}

/** The repository interface prepareCompiler takes (@cubejs-backend/shared's SchemaFileRepository). */
export interface ModelRepository {
  localPath(): string;
  dataSchemaFiles(): Promise<ModelFile[]>;
}

/**
 * The file types Cube's own FileRepository picks up. Jinja and Python files are included on purpose:
 * the compiler then refuses them with a clear message instead of silently ignoring part of the model.
 */
const MODEL_FILE = /\.(ya?ml|js|jinja|py)$/;

/**
 * Reads a Cube model folder (cube/model) recursively. Unlike Cube's FileRepository it takes an
 * absolute path (Cube's resolves against process.cwd()) and never creates the folder; file names are
 * relative with forward slashes and sorted, so compile errors and caches do not depend on the OS.
 */
export class ModelFileRepository implements ModelRepository {
  readonly modelDir: string;

  constructor(modelDir: string) {
    this.modelDir = path.resolve(modelDir);
  }

  localPath(): string {
    return this.modelDir;
  }

  async dataSchemaFiles(): Promise<ModelFile[]> {
    let entries: string[];
    try {
      entries = await fs.readdir(this.modelDir, { recursive: true });
    } catch (error) {
      throw new Error(`Cube model folder not readable: ${this.modelDir} (${(error as Error).message})`, { cause: error });
    }
    const fileNames = entries
      .map((entry) => entry.split(path.sep).join('/'))
      .filter((name) => MODEL_FILE.test(name))
      .sort();
    const files: ModelFile[] = [];
    for (const fileName of fileNames) {
      const fullPath = path.join(this.modelDir, fileName);
      if (!(await fs.stat(fullPath)).isFile()) continue;
      files.push({ fileName, content: await fs.readFile(fullPath, 'utf8') });
    }
    if (files.length === 0) throw new Error(`Cube model folder has no model files (.yml, .yaml, .js): ${this.modelDir}`);
    return files;
  }
}
