"""openpyxl/calamine adapters. The only package that imports them."""
