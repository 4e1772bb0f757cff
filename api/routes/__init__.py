"""One router per resource: parse the request, call a service function, return its schema."""
