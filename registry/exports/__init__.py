"""De-identified (and, for permitted admins, identified) dataset exports. See docs/exports.md."""
