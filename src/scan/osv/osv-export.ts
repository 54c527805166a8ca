// A leaf of its own so that the CLI can name the default mirror in its help without loading the database.

/** OSV's public export bucket: one `<Ecosystem>/all.zip` of every record per ecosystem. */
export const OSV_EXPORT_URL = 'https://osv-vulnerabilities.storage.googleapis.com/';
