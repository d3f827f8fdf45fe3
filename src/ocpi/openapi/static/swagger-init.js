// Starts Swagger UI on the node's own description. A file, not an inline script:
// the page's Content-Security-Policy allows only the node's own scripts.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,  // never call swagger.io's validator
    persistAuthorization: false,
  });
});
