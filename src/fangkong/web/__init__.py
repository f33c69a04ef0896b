"""The web layer: routers, pages and templates. Rendering and request handling only."""
