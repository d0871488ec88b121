"""Authentication of API requests.

Every authentication method is a WSGI middleware in front of the API
that validates the request's token and sets the identity headers
keystonemiddleware defines (``X-Identity-Status``, ``X-Project-Id``,
``X-User-Id``, ``X-Roles``, ...). The API's context hook then refuses
unconfirmed requests and builds the request context from the headers,
whichever method confirmed them.
"""
