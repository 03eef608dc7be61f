"""Server-rendered pages of the registry, one module per resource.

``patients`` (list, register), ``casebook`` (the casebook page), ``parts`` (CRF
forms: edit a part, add, edit and delete rows), ``workflow`` (complete, sign,
unlock), ``history``; ``errors`` answers service errors the same way for all.
"""
