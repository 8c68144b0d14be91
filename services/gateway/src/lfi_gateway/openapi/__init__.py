"""The gateway's one OpenAPI document, merged from the services' documents."""
