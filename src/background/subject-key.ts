/**
 * The key under which the model worker keeps one subject's model: a hash of the verification
 * server and the subject, so that the same subject name at two servers never shares a model and
 * the stored records do not spell out the bank's subject identifier.
 */
export async function subjectKey(serverUrl: string, subject: string): Promise<string> {
  // A NUL cannot occur in a URL origin or a subject (server/src/http.ts subjectSchema).
  const bytes = new TextEncoder().encode(`tacit-subject\u0000${serverUrl}\u0000${subject}`);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
