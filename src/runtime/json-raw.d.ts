// JSON.rawJSON (ES2025, in workerd's V8) writes exact 64-bit integers; not yet in TypeScript's lib.
interface JSON {
  rawJSON(text: string): unknown;
}
