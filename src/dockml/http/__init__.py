"""The only package that imports the web framework: it translates HTTP into calls on the
service layer and errors into RFC 9457 problem documents."""

from dockml.http.app import create_app

__all__ = ["create_app"]
