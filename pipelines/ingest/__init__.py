"""Getting data in: the SYNTHETIC generator, the importer of operators' extracts, the raw
tables' data dictionary and the plain-text summary of a snapshot."""
