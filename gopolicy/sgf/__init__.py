"""Game records: SGF files and collections (records) and the folders and archives that hold them (archives)."""
