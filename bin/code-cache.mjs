// Runs a CommonJS file (the CLI's bundle) and the packages' CommonJS files with V8's code cache: node 20 compiles the
// 4 MB bundle at every start (0.12-0.16 CPU s) and has no module.enableCompileCache (node 22.1), but vm.Script takes
// and makes a code cache.
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * The cache file of `file` for this node: what V8 checks a cache against (its version, its flags) is in the name, so
 * runs under other flags (--cpu-prof, a NODE_OPTIONS) keep their own cache instead of rejecting each other's. The
 * bundle's name holds its content's hash (bin/bundle.mjs), so a new bundle gets a new cache.
 */
function cachePath(file) {
  return `${file.replace(/\.c?js$/, '')}-${nodeKey()}.v8cache`;
}

/** What V8 checks a code cache against, as part of a cache file's name: node's version, its flags. */
export function nodeKey(execArgv = process.execArgv, nodeOptions = process.env.NODE_OPTIONS) {
  const key = [process.version, process.arch, execArgv.join(' '), nodeOptions ?? ''];
  return createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 8);
}

/** Write a cache file (see readCache) whole or not at all; one not written costs the next start its compile. */
function writeCache(path, make) {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    // Not made where it cannot be kept (a read-only install): making them costs a start about 0.025 CPU s.
    accessSync(dirname(path), constants.W_OK);
    const data = make();
    writeFileSync(tmp, Buffer.concat([digest(data), data]));
    renameSync(tmp, path);
  } catch {
    rmSync(tmp, { force: true });
  }
}

// The bundle's own import() (vega-canvas' optional canvas) resolves as in a file node loads (node >= 20.12).
const importModuleDynamically = vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER ?? ((specifier) => import(specifier));

const digest = (data) => createHash('sha256').update(data).digest();

/**
 * A cache file's content as written by writeCache, or undefined where it is missing, unreadable or not whole. V8 does
 * not check a code cache's checksum in release builds: a corrupt one crashes node in its deserializer (a V8 fatal
 * error, SIGTRAP), so each file starts with the sha256 of the rest (0.003 CPU s for the CLI's 3 MB).
 */
function readCache(path) {
  try {
    const buf = readFileSync(path);
    const data = buf.subarray(32);
    return buf.length > 32 && digest(data).equals(buf.subarray(0, 32)) ? data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * import.meta.resolve(specifier) of the bundled module at `parent` (bin/bundle.mjs' ownImportMeta): a relative one
 * against its URL, a bare one from here (the same node_modules: bin/ and src/ lie side by side in the checkout).
 */
const resolveFrom = (specifier, parent) => (/^\.{0,2}\//.test(specifier) ? new URL(specifier, parent).href : import.meta.resolve(specifier));

/**
 * Run the CommonJS `file` as node's require would (the same wrapper, so line numbers match the file) and return its
 * module.exports. With a cache V8 accepts, compiling it costs next to nothing. Without one, or with one V8 rejects
 * (V8 checks its version, its flags and the source's length; see readCache for a corrupt one), the cache is made when
 * the process exits, so that it holds the functions this run compiled lazily too, and written whole or not at all
 * (temp + rename). `onCache(state)` is told 'accepted', 'rejected' or 'missing' (tests).
 */
export function runWithCodeCache(file, onCache) {
  const source = readFileSync(file, 'utf8');
  const path = cachePath(file);
  const cachedData = readCache(path);
  const wrapper = `(function (exports, require, module, __filename, __dirname, __reprobeResolve) { ${source}\n})`;
  const script = new vm.Script(wrapper, {
    filename: file,
    cachedData,
    importModuleDynamically,
  });
  const state = cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted';
  onCache?.(state);
  if (state !== 'accepted') {
    process.once('exit', () => writeCache(path, () => script.createCachedData()));
  }
  const module = { exports: {}, filename: file, id: file, loaded: false };
  const fn = script.runInThisContext();
  fn.call(module.exports, module.exports, createRequire(file), module, file, dirname(file), resolveFrom);
  module.loaded = true;
  return module.exports;
}

/**
 * From now on, compile the CommonJS files of packages (node_modules, outside its .cache) with V8's code cache, all of
 * them in one file in `dir`: a command using tfjs requires 8 MB of them (tfjs' six files, sharp, yargs...), 0.12-0.2
 * CPU s of compiling. An entry is keyed by the file's path, size and mtime (V8 checks only a source's length: npm
 * writes a new version's files anew); the file is rewritten at exit when this run compiled a file it lacked or V8
 * rejected.
 * A file V8 cannot compile as a script (ES module syntax in a .js file) goes to node's own compile, as before.
 */
export function cachePackages(dir) {
  const path = `${dir}${sep}packages-${nodeKey()}.v8cache`;
  let stored = new Map();
  try {
    const data = readCache(path);
    const read = data && v8.deserialize(data);
    if (read instanceof Map) stored = read;
  } catch {
    // Missing or unreadable: every file compiles as without a cache, and the cache is made at exit.
  }
  const made = new Map();
  const compile = Module.prototype._compile;
  Module.prototype._compile = function (content, filename, ...rest) {
    // An ES module (node 20.19+ requires those: format 'module') and files outside the packages go to node's own.
    if (rest[0] === 'module' || !filename.includes(`${sep}node_modules${sep}`) || filename.includes(`${sep}node_modules${sep}.cache${sep}`)) return compile.call(this, content, filename, ...rest);
    let script;
    let key;
    try {
      const st = statSync(filename);
      // ctime and inode too: a copy that keeps size and mtime (cp -p, rsync -a, tar) cannot keep those.
      key = `${filename}\0${st.size}\0${st.mtimeMs}\0${st.ctimeMs}\0${st.ino}`;
      script = new vm.Script(Module.wrap(content), { filename, cachedData: stored.get(key), importModuleDynamically });
    } catch {
      return compile.call(this, content, filename, ...rest);
    }
    if (!stored.has(key) || script.cachedDataRejected) made.set(key, script);
    const fn = script.runInThisContext({ displayErrors: true });
    return fn.call(this.exports, this.exports, requireOf(this), this, filename, dirname(filename));
  };
  process.once('exit', () => {
    if (made.size === 0) return;
    const names = new Set([...made.keys()].map((k) => k.slice(0, k.indexOf('\0'))));
    writeCache(path, () => {
      // Entries of other files stay (a command that loads fewer packages keeps the others' cache); a file's older
      // versions go.
      const out = new Map([...stored].filter(([k]) => !names.has(k.slice(0, k.indexOf('\0')))));
      for (const [k, script] of made) out.set(k, script.createCachedData());
      return v8.serialize(out);
    });
  });
}

/** The require a CommonJS module gets (node's makeRequireFunction, from its public parts). */
function requireOf(mod) {
  const require = (id) => mod.require(id);
  require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
  require.resolve.paths = (request) => Module._resolveLookupPaths(request, mod);
  require.main = process.mainModule;
  require.extensions = Module._extensions;
  require.cache = Module._cache;
  return require;
}
