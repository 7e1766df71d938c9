// Swagger UI over this server's OpenAPI document (a file, not inline: the CSP allows no inline script).
"use strict";
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
