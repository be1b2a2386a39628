"""Pure domain rules: no Flask, no SQLAlchemy, no openpyxl.

Every rule a form, the importer or the CLI applies lives here once, as a plain function.
"""
