"""Content: the editor's files (issue folders, front matter, Markdown) and the forms an issue
is brought in from and taken out as. Nothing here knows about email or subscribers."""
