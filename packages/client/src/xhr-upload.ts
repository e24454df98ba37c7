/** An HTTP answer, from fetch or from XMLHttpRequest. */
export interface HttpAnswer {
  status: number;
  ok: boolean;
  header(name: string): string | null;
  text(): Promise<string>;
}

/** The part of a browser's XMLHttpRequest this client uses (the package compiles without DOM types). */
interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  timeout: number;
  upload: {
    onprogress: ((event: { loaded: number; total: number; lengthComputable: boolean }) => void) | null;
  };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  ontimeout: (() => void) | null;
  status: number;
  responseText: string;
  getResponseHeader(name: string): string | null;
  send(body: FormData): void;
}
type XhrConstructor = new () => XhrLike;

export function browserXhr(): XhrConstructor | undefined {
  return (globalThis as { XMLHttpRequest?: XhrConstructor }).XMLHttpRequest;
}

/** Sends a form through XMLHttpRequest, which reports upload progress; fails like fetch does. */
export function sendWithProgress(
  method: string,
  url: string,
  headers: Record<string, string>,
  form: FormData,
  timeoutMs: number,
  onProgress: (sent: number, total: number) => void,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const Xhr = browserXhr() as XhrConstructor;
    const xhr = new Xhr();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.timeout = timeoutMs;
    xhr.upload.onprogress = (event) =>
      onProgress(event.loaded, event.lengthComputable ? event.total : event.loaded);
    xhr.onload = () =>
      resolve({
        status: xhr.status,
        ok: xhr.status >= 200 && xhr.status < 300,
        header: (name) => xhr.getResponseHeader(name),
        text: async () => xhr.responseText,
      });
    xhr.onerror = () => reject(new TypeError('network error'));
    xhr.ontimeout = () => reject(Object.assign(new Error('upload timed out'), { name: 'TimeoutError' }));
    xhr.send(form);
  });
}
