"""Demo shop data: the small fixed test fixture and the large generated demo shop."""
