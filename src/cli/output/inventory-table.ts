import type { Inventory } from '../../scan/types.js';

/** The inventory as an aligned terminal table: TYPE NAME VERSION SOURCE LOCATION. */
export function formatInventoryTable(inventory: Inventory): string {
  const rows = [['TYPE', 'NAME', 'VERSION', 'SOURCE', 'LOCATION']];
  for (const pkg of inventory.packages) {
    const source = pkg.sourceName && pkg.sourceName !== pkg.name ? pkg.sourceName : '';
    rows.push([pkg.type, pkg.name, pkg.version, source, pkg.location]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length))) ?? [];
  return `${rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] as number)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}
