"""The versioned model store: saving, verifying, registering and promoting model versions."""
