"""What reaches colleagues: workbooks and CSV, the interactive map, the project reserve pool."""
