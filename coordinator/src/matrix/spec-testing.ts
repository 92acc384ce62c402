/** For the spec tests: the SpecError a spec text is refused with. */
import { parseSpec } from "./spec.js";
import { SpecError } from "./spec-error.js";

/** The SpecError `text` (read as "spec.yaml") is refused with; throws when it is accepted or fails otherwise. */
export function specError(text: string): SpecError {
  try {
    parseSpec(text, "spec.yaml");
  } catch (err) {
    if (err instanceof SpecError) return err;
    throw err;
  }
  throw new Error("expected a SpecError, the spec was accepted");
}
