/** A fetch response's JSON body, typed loosely: tests assert its shape field by field. */
// biome-ignore lint/suspicious/noExplicitAny: test assertions check the shape
export async function bodyOf(response: Response): Promise<any> {
  return response.json();
}
