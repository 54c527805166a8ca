import type { ImageInspection } from '../../client/image-inspection.js';
import { formatBytes } from '../../oci/byte-size.js';

/** `berth inspect` on a terminal: the image's facts, its labels, then its layers. */
export function formatInspection(result: ImageInspection): string {
  const lines = [
    `Name:         ${result.name}`,
    `Digest:       ${result.digest}`,
    `Media type:   ${result.mediaType}`,
    ...(result.platforms
      ? [`Platforms:    ${result.platforms.join(', ')}`, `Shown:        ${result.platformDigest}`]
      : []),
    `Platform:     ${result.os ?? '?'}/${result.architecture ?? '?'}${result.variant ? `/${result.variant}` : ''}`,
    `Created:      ${result.created ?? '-'}`,
    `Size:         ${formatBytes(result.size)} (${result.layers.length} layers)`,
    'Labels:',
    ...Object.entries(result.labels).map(([k, v]) => `  ${k}=${v}`),
    'Layers:',
    ...result.layers.map((l) => `  ${l.digest}  ${formatBytes(l.size).padStart(10)}  ${l.mediaType}`),
  ];
  return `${lines.join('\n')}\n`;
}
