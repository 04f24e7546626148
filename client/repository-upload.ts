// Uploads a Triton model folder, or a whole repository of them, through the load API (Node only: it reads local files).
// A model folder holds config.pbtxt (or config.json) and <version>/model.onnx; versions the server already has are skipped.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ApiError, type Client } from './index.ts';

const CONFIGS = ['config.pbtxt', 'config.json'];
const isDir = (path: string) => statSync(path).isDirectory();
const isModelFolder = (dir: string) =>
  CONFIGS.some((f) => existsSync(join(dir, f))) || readdirSync(dir).some((v) => /^\d+$/.test(v) && existsSync(join(dir, v, 'model.onnx')));

export interface UploadResult {
  name: string;
  ok: boolean;
  /** The repository files sent (versions the server already has are left out). */
  files: string[];
  status?: number;
  error?: string;
}

export interface UploadOptions {
  /** Progress notes (skipped folders); default console.warn. */
  warn?: (message: string) => void;
  /** Called as each model's load answers. */
  onResult?: (result: UploadResult) => void;
  /** Rewrites each model.onnx before it is sent (the CLI's --optimize). */
  transform?: (model: Uint8Array, path: string) => Promise<Uint8Array>;
}

/** The model folders under `root`: root itself when it is one, else its subfolders that are. Throws when there is none. */
export function modelFolders(root: string): string[] {
  if (!existsSync(root) || !isDir(root)) throw new Error(`${root} is not a folder`);
  const folders = isModelFolder(root) ? [root] : readdirSync(root).map((d) => join(root, d)).filter((d) => isDir(d) && isModelFolder(d));
  if (!folders.length) throw new Error(`${root} holds no model folder (config.pbtxt or <version>/model.onnx)`);
  return folders;
}

/** The files of one model folder, as repository paths; versions already served are left out. */
function filesOf(dir: string, existing: Set<string>, warn: (message: string) => void): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  const add = (path: string) => (files[path] = readFileSync(join(dir, path)));
  for (const file of CONFIGS) if (existsSync(join(dir, file))) add(file);
  for (const version of readdirSync(dir).filter((v) => /^\d+$/.test(v) && isDir(join(dir, v)))) {
    if (existing.has(version)) continue;
    if (!existsSync(join(dir, version, 'model.onnx'))) {
      warn(`  skipping ${version}/: no model.onnx (only ONNX models are served)`);
      continue;
    }
    add(`${version}/model.onnx`);
    for (const file of CONFIGS) if (existsSync(join(dir, version, file))) add(`${version}/${file}`);
  }
  return files;
}

/** Loads every model folder under `root`; one model's failure does not stop the others. Index errors throw. */
export async function uploadRepository(client: Client, root: string, options: UploadOptions = {}): Promise<UploadResult[]> {
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const folders = modelFolders(root);
  const index = await client.models.list();
  const results: UploadResult[] = [];
  for (const dir of folders) {
    const name = basename(dir);
    const existing = new Set(index.filter((m) => m.name === name).map((m) => m.version));
    const files = filesOf(dir, existing, warn);
    if (options.transform) {
      for (const path of Object.keys(files).filter((p) => p.endsWith('model.onnx'))) files[path] = await options.transform(files[path]!, `${name}/${path}`);
    }
    let result: UploadResult;
    try {
      await client.repository.load(name, { files });
      result = { name, ok: true, files: Object.keys(files) };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      result = { name, ok: false, files: Object.keys(files), status: error.status, error: error.message };
    }
    options.onResult?.(result);
    results.push(result);
  }
  return results;
}
