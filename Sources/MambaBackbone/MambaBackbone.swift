// MambaBackbone: see README.md's map of modules.
