import { describe, expect, it } from "vitest";
import { parseAnalyzeRequest } from "../../analyzers/http/routes.js";
import { HttpError } from "../../common/index.js";

describe("POST /analyze bodies", () => {
  it("take models and an ISO 8601 range", () => {
    expect(
      parseAnalyzeRequest('{"models":["churn"],"from":"2026-11-27T00:00Z","to":"2026-11-28T00:00Z"}'),
    ).toEqual({
      models: ["churn"],
      fromMs: Date.UTC(2026, 10, 27),
      toMs: Date.UTC(2026, 10, 28),
    });
    expect(parseAnalyzeRequest("{}")).toEqual({});
  });

  it.each([
    ["not JSON", "{", /not JSON/],
    ["an array", "[]", /JSON object/],
    ["models not strings", '{"models":[1]}', /models must be an array of model names/],
    ["a bad time", '{"from":"yesterday"}', /from must be an ISO 8601 time/],
  ])("refuse %s with a 400 naming the field", (_name, body, message) => {
    let error: unknown;
    try {
      parseAnalyzeRequest(body);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(400);
    expect((error as HttpError).message).toMatch(message);
  });
});
