"""Publish: the static web archive (a page per issue, the index, the Atom feed), written
incrementally so an unchanged file is never rewritten."""
