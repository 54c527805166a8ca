import { BerthError } from '../oci/errors.js';
import type { Descriptor } from '../oci/manifest.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string | undefined;
}

const NODE_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** The platform of this machine, as image indexes name it. */
export function hostPlatform(): Platform {
  return { os: 'linux', architecture: NODE_ARCH[process.arch] ?? process.arch };
}

/** Parses `os/arch[/variant]`, e.g. `linux/arm64/v8`. */
export function parsePlatform(raw: string): Platform {
  const [os, architecture, variant] = raw.split('/');
  if (!os || !architecture)
    throw new BerthError('PLATFORM_INVALID', `invalid platform "${raw}": expected OS/ARCH[/VARIANT]`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: {
  os: string;
  architecture: string;
  variant?: string | undefined;
}): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** The index entry for a platform; a variant, when asked for, must match too. */
export function choosePlatform(entries: Descriptor[], wanted: Platform, where: string): Descriptor {
  const matches = entries.filter(
    (d) =>
      d.platform &&
      d.platform.os === wanted.os &&
      d.platform.architecture === wanted.architecture &&
      (!wanted.variant || d.platform.variant === wanted.variant),
  );
  const found = matches[0];
  if (!found) {
    const available = entries.filter((d) => d.platform).map((d) => formatPlatform(d.platform as Platform));
    throw new BerthError(
      'PLATFORM_NOT_FOUND',
      `${where} has no image for ${formatPlatform(wanted)} (it has: ${available.join(', ') || 'none'}); use --platform or --all`,
    );
  }
  return found;
}
