"""Where visitors write: the website widget and helpdesk-hosted channels."""
