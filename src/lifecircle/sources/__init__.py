"""Reading what users bring: OpenStreetMap files and Overpass, tables with Chinese headers and
encodings, and Chinese coordinate systems (GCJ-02, BD-09)."""
