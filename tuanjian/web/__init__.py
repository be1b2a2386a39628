"""Flask glue shared by the blueprints."""
