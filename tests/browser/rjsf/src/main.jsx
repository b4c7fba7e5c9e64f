// Renders iop-placement's JSON Schema + uiSchema in real react-jsonschema-form, with the
// props docs/json-schema.md tells integrators to pass. tests/test_rjsf_form.py drives it.
// The test writes window.IOP = {schema, uiSchema} (from json_schema() / ui_schema()) into
// config.js before this bundle loads; the page exposes what the form holds on window.
import React, { useState } from "react";
import { createRoot } from "react-dom/client";
import Form from "@rjsf/core";
import { customizeValidator } from "@rjsf/validator-ajv8";
import Ajv from "ajv";

const { schema, uiSchema } = window.IOP;

// Strict Ajv must accept the schema as it is: no unknown keywords.
try {
  new Ajv({ strict: true, allErrors: true }).compile(schema);
  window.__strictAjv = "ok";
} catch (error) {
  window.__strictAjv = String(error.message || error);
}

// rjsf's own validator, made strict.
const validator = customizeValidator({ ajvOptionsOverrides: { strict: true } });

// The props that keep rjsf from answering for the clinician (docs/json-schema.md).
const NEVER_ANSWER = {
  // Without skipDefaults rjsf 6.11 starts every oneOf question on its first option
  // ("Yes", "None"); constAsDefaults "never" alone does not prevent it.
  experimental_defaultFormStateBehavior: {
    emptyObjectFields: "skipDefaults",
    constAsDefaults: "never",
    arrayMinItems: { populate: "never" },
  },
};

function App() {
  const [formData, setFormData] = useState({});
  window.__formData = formData;
  return (
    <div>
      <Form
        schema={schema}
        uiSchema={uiSchema}
        validator={validator}
        formData={formData}
        {...NEVER_ANSWER}
        noHtml5Validate
        onChange={({ formData: data }) => setFormData(data)}
        onSubmit={({ formData: data }) => {
          window.__submitted = JSON.parse(JSON.stringify(data));
        }}
        onError={(errors) => {
          window.__errors = errors.map((e) => e.property || e.message);
        }}
      />
      <button
        id="partial"
        type="button"
        onClick={() => {
          // An incomplete form sent as a partial answer set (for provisional()).
          window.__partial = JSON.parse(JSON.stringify(window.__formData || {}));
        }}
      >
        Save partial answers
      </button>
    </div>
  );
}

createRoot(document.getElementById("root")).render(<App />);
document.body.setAttribute("data-ready", "1");
