import type { LayerEntry, LayerScan } from './layer-walker.js';
import type { ScanIssue } from './types.js';

/** One entry of one layer, kept after the merge; `removedLater` once a later layer hides or replaces it. */
export interface FileRecord extends LayerEntry {
  layerIndex: number;
  layerDigest: string;
  removedLater: boolean;
  /** How it went: replaced by a later layer's entry, or deleted by a whiteout. */
  hiddenBy?: { layerIndex: number; how: 'overwritten' | 'removed' };
}

/** What merging one layer did to the filesystem below it. */
export interface LayerChanges {
  index: number;
  digest: string;
  /** Entries of the layer (files, folders, links…), whiteout markers excluded. */
  entries: number;
  /** Regular files and the bytes they hold. */
  files: number;
  fileBytes: number;
  added: number;
  addedBytes: number;
  /** Entries that replace one of a lower layer (a file rewritten, a folder whose mode changed…). */
  changed: number;
  changedBytes: number;
  /** Lower entries this layer deletes (whiteouts, opaque folders, files replacing folders). */
  removed: number;
  removedBytes: number;
}

interface TreeNode {
  children?: Map<string, TreeNode>;
  record?: FileRecord;
}

function splitPath(path: string): string[] {
  return path.split('/').filter(Boolean);
}

/**
 * The image's filesystem as the layers build it, bottom up, with OCI whiteout semantics: a `.wh.NAME`
 * marker deletes NAME from the layers below, an opaque marker hides a folder's lower content, and an
 * entry replaces what a lower layer had at its path (a file over a folder hides the folder's subtree).
 * Markers apply to lower layers only, so a layer's markers are applied before its own entries.
 * Holds metadata per entry (never file bytes, but for the few kept for the inventory).
 */
export class ImageFilesystem {
  private readonly root: TreeNode = { children: new Map() };
  /** Every entry of every layer, in layer order. */
  readonly records: FileRecord[] = [];
  readonly changes: LayerChanges[] = [];
  readonly issues: ScanIssue[] = [];

  /** Merges the next layer; layers must come in order, base first. */
  apply(scan: LayerScan): LayerChanges {
    const changes: LayerChanges = {
      index: scan.index,
      digest: scan.digest,
      entries: scan.entries.length,
      files: 0,
      fileBytes: 0,
      added: 0,
      addedBytes: 0,
      changed: 0,
      changedBytes: 0,
      removed: 0,
      removedBytes: 0,
    };
    for (const dir of scan.opaqueDirs) {
      const node = this.find(dir);
      if (node?.children) {
        for (const child of node.children.values()) this.hide(child, scan.index, 'removed', changes);
        node.children.clear();
      }
    }
    for (const path of scan.whiteouts) {
      const parts = splitPath(path);
      const name = parts.pop();
      const parent = this.find(`/${parts.join('/')}`);
      const node = name ? parent?.children?.get(name) : undefined;
      if (!parent?.children || !node || !name) continue; // a whiteout of nothing: legal, nothing to do
      this.hide(node, scan.index, 'removed', changes);
      parent.children.delete(name);
    }
    for (const entry of scan.entries) this.insert(entry, scan, changes);
    this.changes.push(changes);
    return changes;
  }

  private find(path: string): TreeNode | undefined {
    let node: TreeNode | undefined = this.root;
    for (const part of splitPath(path)) {
      node = node?.children?.get(part);
      if (!node) return undefined;
    }
    return node;
  }

  /** Marks a lower subtree as hidden by layer `by` and counts it as removed (or replaced). */
  private hide(node: TreeNode, by: number, how: 'overwritten' | 'removed', changes: LayerChanges): void {
    const stack: TreeNode[] = [node];
    while (stack.length > 0) {
      const current = stack.pop() as TreeNode;
      const record = current.record;
      if (record && !record.removedLater) {
        record.removedLater = true;
        record.hiddenBy = { layerIndex: by, how };
        record.content = undefined;
        record.goBuildInfo = undefined;
        if (how === 'removed') {
          changes.removed += 1;
          changes.removedBytes += record.size;
        }
      }
      if (current.children) for (const child of current.children.values()) stack.push(child);
    }
  }

  private insert(entry: LayerEntry, scan: LayerScan, changes: LayerChanges): void {
    const parts = splitPath(entry.path);
    const name = parts.pop() as string;
    let parent = this.root;
    for (const part of parts) {
      parent.children ??= new Map();
      let next = parent.children.get(part);
      if (!next) {
        next = { children: new Map() };
        parent.children.set(part, next);
      } else if (!next.children) {
        // A lower non-folder where this layer needs a folder: the lower entry is replaced.
        if (next.record && next.record.type !== 'dir') this.hide(next, scan.index, 'removed', changes);
        next.children = new Map();
        next.record = undefined;
      }
      parent = next;
    }
    if (entry.type === 'hardlink' && entry.linkname !== undefined) {
      const target = this.find(entry.linkname);
      if (!target?.record || target.record.type === 'dir') {
        this.issues.push({
          code: 'HARDLINK_MISSING',
          message: `hard link ${entry.path} -> ${entry.linkname}: no such file in this or a lower layer`,
          layerIndex: scan.index,
          layerDigest: scan.digest,
          path: entry.path,
        });
      }
    }
    const record: FileRecord = {
      path: entry.path,
      layerIndex: scan.index,
      layerDigest: scan.digest,
      type: entry.type,
      mode: entry.mode,
      size: entry.size,
      uid: entry.uid,
      gid: entry.gid,
      removedLater: false,
      ...(entry.linkname !== undefined ? { linkname: entry.linkname } : {}),
      ...(entry.hash !== undefined ? { hash: entry.hash } : {}),
      ...(entry.content !== undefined ? { content: entry.content } : {}),
      ...(entry.goBuildInfo !== undefined ? { goBuildInfo: entry.goBuildInfo } : {}),
    };
    this.records.push(record);
    if (entry.type === 'file') {
      changes.files += 1;
      changes.fileBytes += entry.size;
    }
    parent.children ??= new Map();
    const existing = parent.children.get(name);
    if (!existing) {
      parent.children.set(name, { ...(entry.type === 'dir' ? { children: new Map() } : {}), record });
      changes.added += 1;
      changes.addedBytes += entry.size;
      return;
    }
    const lower = existing.record;
    const fromLowerLayer = lower !== undefined && lower.layerIndex < scan.index;
    if (entry.type === 'dir' && existing.children) {
      // A folder declared again keeps its content; it counts as changed only when its metadata differ.
      if (fromLowerLayer && (lower.mode !== entry.mode || lower.uid !== entry.uid || lower.gid !== entry.gid))
        changes.changed += 1;
      else if (!lower) changes.added += 1;
      if (lower) {
        lower.removedLater = true;
        lower.hiddenBy = { layerIndex: scan.index, how: 'overwritten' };
      }
      existing.record = record;
      return;
    }
    // A folder replaced by a non-folder takes its lower content with it.
    if (existing.children)
      for (const child of existing.children.values()) this.hide(child, scan.index, 'removed', changes);
    if (lower && !lower.removedLater) {
      lower.removedLater = true;
      lower.hiddenBy = { layerIndex: scan.index, how: 'overwritten' };
      lower.content = undefined;
      lower.goBuildInfo = undefined;
    }
    if (fromLowerLayer || !lower) {
      changes.changed += 1;
      changes.changedBytes += entry.size;
    }
    // Else the same layer wrote the path twice: already counted; the first copy is dead weight.
    parent.children.set(name, { ...(entry.type === 'dir' ? { children: new Map() } : {}), record });
  }

  /** The records visible in the final filesystem, depth first, children in name order. */
  *visible(): Generator<FileRecord> {
    const stack: TreeNode[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop() as TreeNode;
      if (node.record) yield node.record;
      if (node.children) {
        const names = [...node.children.keys()].sort().reverse();
        for (const name of names) stack.push(node.children.get(name) as TreeNode);
      }
    }
  }

  /** Folder sizes of the final filesystem: bytes of visible regular files below each folder. */
  folderSizes(): Map<string, { bytes: number; files: number }> {
    const sizes = new Map<string, { bytes: number; files: number }>();
    const walk = (node: TreeNode, path: string): { bytes: number; files: number } => {
      let bytes = 0;
      let files = 0;
      if (node.children) {
        for (const [name, child] of node.children) {
          const childPath = path === '/' ? `/${name}` : `${path}/${name}`;
          if (child.children) {
            const sub = walk(child, childPath);
            bytes += sub.bytes;
            files += sub.files;
          } else if (child.record?.type === 'file') {
            bytes += child.record.size;
            files += 1;
          }
        }
      }
      const total = { bytes, files };
      sizes.set(path, total);
      return total;
    };
    walk(this.root, '/');
    return sizes;
  }
}
