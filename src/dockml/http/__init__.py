"""The only package that imports the web framework: it translates HTTP into calls on the
service layer (the routes: route_table.py) and errors into answers in each route's form
(error_renderer.py)."""

from dockml.http.app import create_app

__all__ = ["create_app"]
