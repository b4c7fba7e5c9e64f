// Renders questionnaire.json (written next to this page by the test) with LHC-Forms.
// window.__ready is "ok" once the form is on the page, or why it could not be rendered.
"use strict";
const FORM = "form";

(async () => {
  try {
    const questionnaire = await (await fetch("questionnaire.json")).json();
    await LForms.Util.addFormToPage(questionnaire, FORM, { fhirVersion: "R4" });
    window.__ready = "ok";
  } catch (error) {
    window.__ready = String(error && error.message ? error.message : error);
  }
})();

// LHC-Forms' own export of what was entered, untouched (it always says "completed").
window.lhcExport = () =>
  LForms.Util.getFormFHIRData("QuestionnaireResponse", "R4", document.getElementById(FORM));

// What a form-filling app sends: the export, with the status set by LHC-Forms' own
// validity check. checkValidity gives null when every required question is answered.
window.respond = () => {
  const response = window.lhcExport();
  const errors = LForms.Util.checkValidity(document.getElementById(FORM));
  response.status = errors ? "in-progress" : "completed";
  return response;
};
