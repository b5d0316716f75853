"""
Protocol/Factory pairs: they frame bytes and delegate to pure parsers and to
the state objects their factories hold.
"""
