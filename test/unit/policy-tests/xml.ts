// A strict, minimal XML reader for checking JUnit reports structurally: elements, attributes,
// text, the five predefined entities and character references. It throws on anything that is
// not well-formed XML 1.0 in that subset (mismatched or unclosed tags, a bare `<` or `&`,
// unquoted or repeated attributes, characters XML forbids, text outside the root).

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /[A-Za-z_:][A-Za-z0-9_:.-]*/y;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(raw: string, where: number): string {
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(raw)) throw new Error(`a character XML forbids near ${where}`);
  if (raw.includes('<')) throw new Error(`a bare < near ${where}`);
  return raw.replace(/&([^;\s]*);?/g, (m, name: string) => {
    if (!m.endsWith(';')) throw new Error(`a bare & near ${where}`);
    if (name in ENTITIES) return ENTITIES[name];
    const num = /^#(x[0-9a-fA-F]+|[0-9]+)$/.exec(name);
    if (!num) throw new Error(`unknown entity &${name}; near ${where}`);
    return String.fromCodePoint(num[1].startsWith('x') ? parseInt(num[1].slice(1), 16) : Number(num[1]));
  });
}

export function parseXml(text: string): XmlElement {
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(text);
    if (!m) throw new Error(`a name expected at ${i}`);
    i += m[0].length;
    return m[0];
  };
  if (text.startsWith('<?xml')) {
    const end = text.indexOf('?>');
    if (end < 0) throw new Error('unclosed XML declaration');
    i = end + 2;
  }
  skipSpace();
  const element = (): XmlElement => {
    if (text[i] !== '<') throw new Error(`< expected at ${i}`);
    i++;
    const el: XmlElement = { name: name(), attributes: {}, children: [], text: '' };
    for (;;) {
      skipSpace();
      if (text.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (text[i] === '>') {
        i++;
        break;
      }
      const attr = name();
      skipSpace();
      if (text[i] !== '=') throw new Error(`= expected at ${i}`);
      i++;
      skipSpace();
      const q = text[i];
      if (q !== '"' && q !== "'") throw new Error(`a quoted value expected at ${i}`);
      const end = text.indexOf(q, i + 1);
      if (end < 0) throw new Error('unclosed attribute value');
      if (attr in el.attributes) throw new Error(`attribute ${attr} given twice`);
      el.attributes[attr] = decode(text.slice(i + 1, end), i);
      i = end + 1;
    }
    for (;;) {
      const lt = text.indexOf('<', i);
      if (lt < 0) throw new Error(`<${el.name}> is not closed`);
      el.text += decode(text.slice(i, lt), i);
      i = lt;
      if (text.startsWith('</', i)) {
        i += 2;
        const closing = name();
        if (closing !== el.name) throw new Error(`</${closing}> closes <${el.name}>`);
        skipSpace();
        if (text[i] !== '>') throw new Error(`> expected at ${i}`);
        i++;
        return el;
      }
      el.children.push(element());
    }
  };
  const root = element();
  skipSpace();
  if (i !== text.length) throw new Error(`text after the root element at ${i}`);
  return root;
}
