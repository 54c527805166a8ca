import { randomUUID } from 'node:crypto';
import { PackageURL } from 'packageurl-js';
import type { InstalledPackage, Inventory } from '../types.js';
import { isSingleLicenseId, licenseRefFor, toSpdxExpression } from './license-expression.js';

/** The image an inventory describes, and who wrote the document. */
export interface SbomImage {
  /** The image reference as the user gave it, e.g. `registry.example/team/app:1.2`. */
  name: string;
  /** The manifest digest, `sha256:…`. */
  digest: string;
  created?: Date;
  /** Berth's version, for the document's creator/tool entry. */
  toolVersion: string;
}

// SPDX wants `YYYY-MM-DDThh:mm:ssZ`, without fractions of a second.
function spdxTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** The purl of the image itself: `pkg:oci/NAME@DIGEST?repository_url=REPOSITORY`. */
export function imagePurl(image: SbomImage): string {
  const repository = stripTagAndDigest(image.name);
  const name = repository.slice(repository.lastIndexOf('/') + 1).toLowerCase() || 'image';
  const qualifiers: Record<string, string> = {};
  if (repository.includes('/')) qualifiers.repository_url = repository;
  return new PackageURL('oci', undefined, name, image.digest, qualifiers, undefined).toString();
}

function stripTagAndDigest(reference: string): string {
  const at = reference.indexOf('@');
  const noDigest = at >= 0 ? reference.slice(0, at) : reference;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** `Person: NAME (EMAIL)` or `Organization: NAME (EMAIL)` from a maintainer or author string. */
export function spdxSupplier(supplier: string | undefined): string {
  if (!supplier) return 'NOASSERTION';
  const match = /^\s*([^<(]*?)\s*(?:<([^>]*)>)?\s*(?:\(([^)]*)\))?\s*$/.exec(supplier);
  const name = (match?.[1] || supplier).replace(/[()]/g, '').trim();
  const email = match?.[2]?.trim();
  if (name === '') return 'NOASSERTION';
  const kind = looksLikeOrganization(name) ? 'Organization' : 'Person';
  return email ? `${kind}: ${name} (${email})` : `${kind}: ${name}`;
}

// Teams, companies and projects, as maintainer fields name them.
function looksLikeOrganization(name: string): boolean {
  return /\b(team|maintainers|developers|project|inc\.?|llc|ltd\.?|gmbh|corp\.?|corporation|foundation|authority|ventures|group|community|contributors|org|tests|debian|ubuntu|alpine|fedora|red hat|microsoft|google|github)\b/i.test(
    name,
  );
}

interface SpdxLicenses {
  declared: string;
  /** LicenseRef ids the declared expression uses, with the text each stands for. */
  refs: Map<string, string>;
}

/** An SPDX package: what Berth does not know (download location, concluded license, copyright) is NOASSERTION. */
function spdxPackage(
  head: { SPDXID: string; name: string; versionInfo?: string },
  purpose: 'CONTAINER' | 'OPERATING_SYSTEM' | 'LIBRARY',
  known: { licenseDeclared?: string; supplier?: string } = {},
): Record<string, unknown> {
  return {
    ...head,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: known.licenseDeclared ?? 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    supplier: known.supplier ?? 'NOASSERTION',
    primaryPackagePurpose: purpose,
  };
}

/** One valid expression for a package's licenses (joined with AND), or NOASSERTION. */
function spdxLicenses(pkg: InstalledPackage, usedRefs: Map<string, string>): SpdxLicenses {
  const refs = new Map<string, string>();
  const parts: string[] = [];
  for (const text of pkg.licenses ?? []) {
    const expression = toSpdxExpression(text);
    if (expression) {
      for (const ref of expression.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? [])
        refs.set(ref, usedRefs.get(ref) ?? text);
      parts.push((pkg.licenses?.length ?? 0) > 1 ? wrap(expression) : expression);
      continue;
    }
    // Free text becomes a LicenseRef; two different texts never share one.
    let ref = licenseRefFor(text);
    for (let n = 2; usedRefs.has(ref) && usedRefs.get(ref) !== text; n++) ref = `${licenseRefFor(text)}-${n}`;
    refs.set(ref, text);
    parts.push(ref);
  }
  for (const [ref, text] of refs) if (!usedRefs.has(ref)) usedRefs.set(ref, text);
  return { declared: parts.length > 0 ? parts.join(' AND ') : 'NOASSERTION', refs };
}

function wrap(expression: string): string {
  return / (AND|OR) /.test(expression) ? `(${expression})` : expression;
}

/** An SPDXID from parts: `SPDXRef-` then only letters, digits, `.` and `-`. */
export function spdxId(prefix: string, ...parts: string[]): string {
  const safe = parts
    .join('-')
    .replace(/[^A-Za-z0-9.-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  return `SPDXRef-${prefix}${safe === '' ? '' : `-${safe}`}`;
}

/** An SPDX 2.3 JSON document: the image as a CONTAINER package that CONTAINS the OS and every package. */
export function toSpdxJson(inventory: Inventory, image: SbomImage): object {
  const created = image.created ?? new Date();
  const imageId = 'SPDXRef-Image';
  const usedIds = new Set<string>([imageId, 'SPDXRef-DOCUMENT']);
  const unique = (id: string): string => {
    let candidate = id;
    for (let n = 2; usedIds.has(candidate); n++) candidate = `${id}-${n}`;
    usedIds.add(candidate);
    return candidate;
  };
  const usedRefs = new Map<string, string>();
  const packages: object[] = [
    {
      ...spdxPackage({ SPDXID: imageId, name: image.name, versionInfo: image.digest }, 'CONTAINER'),
      externalRefs: [
        { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: imagePurl(image) },
      ],
    },
  ];
  const relationships: object[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
  ];
  if (inventory.os) {
    const id = unique(spdxId('OperatingSystem', inventory.os.id, inventory.os.versionId ?? ''));
    const osPackage = spdxPackage({ SPDXID: id, name: inventory.os.id }, 'OPERATING_SYSTEM');
    if (inventory.os.versionId) osPackage.versionInfo = inventory.os.versionId;
    if (inventory.os.prettyName) osPackage.description = inventory.os.prettyName;
    packages.push(osPackage);
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  }
  for (const pkg of inventory.packages) {
    const id = unique(spdxId('Package', pkg.type, pkg.name, pkg.version));
    const licenses = spdxLicenses(pkg, usedRefs);
    const entry: Record<string, unknown> = {
      ...spdxPackage({ SPDXID: id, name: pkg.name, versionInfo: pkg.version }, 'LIBRARY', {
        licenseDeclared: licenses.declared,
        supplier: spdxSupplier(pkg.supplier),
      }),
      externalRefs: [
        { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: pkg.purl },
      ],
    };
    if (pkg.sourceName && pkg.sourceName !== pkg.name)
      entry.sourceInfo = `built from source package ${pkg.sourceName}`;
    if (pkg.description) entry.summary = pkg.description;
    entry.comment = `found at ${pkg.location}${pkg.layerDigest ? ` in layer ${pkg.layerDigest}` : ''}`;
    packages.push(entry);
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  }
  const document: Record<string, unknown> = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: image.name,
    documentNamespace: `https://berth.invalid/spdx/${encodeURIComponent(stripTagAndDigest(image.name))}/${image.digest}/${randomUUID()}`,
    creationInfo: {
      created: spdxTime(created),
      creators: [`Tool: berth-${image.toolVersion}`],
    },
    packages,
    relationships,
  };
  if (usedRefs.size > 0) {
    document.hasExtractedLicensingInfos = [...usedRefs].map(([licenseId, text]) => ({
      licenseId,
      extractedText: text,
      name: text.split('\n')[0]?.slice(0, 200) || licenseId,
    }));
  }
  return document;
}

type CdxLicense = { license: { id: string } | { name: string } } | { expression: string };

/** CycloneDX licenses: one listed id each as `id`, others as `name`; a lone compound one as `expression`. */
function cycloneDxLicenses(licenses: readonly string[]): CdxLicense[] {
  if (licenses.length === 1) {
    const expression = toSpdxExpression(licenses[0] as string);
    if (expression && !isSingleLicenseId(expression) && !expression.startsWith('LicenseRef-')) {
      return [{ expression }];
    }
  }
  return licenses.map((text) => {
    const expression = toSpdxExpression(text);
    return expression && isSingleLicenseId(expression)
      ? { license: { id: expression } }
      : { license: { name: text.split('\n')[0]?.slice(0, 200) || text } };
  });
}

/** The supplier's name without the e-mail address. */
function supplierName(supplier: string): string {
  return (
    supplier
      .replace(/<[^>]*>/g, '')
      .replace(/\s+/g, ' ')
      .trim() || supplier
  );
}

/** A CycloneDX 1.5 JSON BOM: the image as the container component, the OS and every package as components. */
export function toCycloneDxJson(inventory: Inventory, image: SbomImage): object {
  const created = image.created ?? new Date();
  const usedRefs = new Set<string>();
  const unique = (ref: string): string => {
    let candidate = ref;
    for (let n = 2; usedRefs.has(candidate); n++) candidate = `${ref}#${n}`;
    usedRefs.add(candidate);
    return candidate;
  };
  const imageRef = unique(imagePurl(image));
  const components: object[] = [];
  if (inventory.os) {
    const os: Record<string, unknown> = {
      type: 'operating-system',
      'bom-ref': unique(`os:${inventory.os.id}@${inventory.os.versionId ?? ''}`),
      name: inventory.os.id,
    };
    if (inventory.os.versionId) os.version = inventory.os.versionId;
    if (inventory.os.prettyName) os.description = inventory.os.prettyName;
    components.push(os);
  }
  for (const pkg of inventory.packages) {
    const component: Record<string, unknown> = {
      type: 'library',
      'bom-ref': unique(pkg.purl),
      name: pkg.name,
      version: pkg.version,
      purl: pkg.purl,
    };
    if (pkg.supplier) component.supplier = { name: supplierName(pkg.supplier) };
    if (pkg.description) component.description = pkg.description;
    if (pkg.licenses && pkg.licenses.length > 0) component.licenses = cycloneDxLicenses(pkg.licenses);
    const properties = [{ name: 'berth:location', value: pkg.location }];
    if (pkg.layerDigest) properties.push({ name: 'berth:layer', value: pkg.layerDigest });
    if (pkg.layerIndex !== undefined)
      properties.push({ name: 'berth:layer-index', value: String(pkg.layerIndex) });
    if (pkg.sourceName) {
      properties.push({
        name: 'berth:source',
        value: pkg.sourceVersion ? `${pkg.sourceName}@${pkg.sourceVersion}` : pkg.sourceName,
      });
    }
    if (pkg.arch) properties.push({ name: 'berth:arch', value: pkg.arch });
    component.properties = properties;
    components.push(component);
  }
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.5.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: created.toISOString(),
      tools: { components: [{ type: 'application', name: 'berth', version: image.toolVersion }] },
      component: {
        type: 'container',
        'bom-ref': imageRef,
        name: stripTagAndDigest(image.name),
        version: image.digest,
        purl: imagePurl(image),
      },
    },
    components,
  };
}
