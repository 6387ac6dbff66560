"""FacetsPages: Facets Overview and Dive pages, self-contained and offline, as pipeline artifacts."""
