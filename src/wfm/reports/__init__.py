"""Report rendering: one table written as HTML, CSV and XLSX, and the coverage chart."""
