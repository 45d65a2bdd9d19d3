"""The website widget channel: the embeddable script, its settings, uploads and the demo page."""
