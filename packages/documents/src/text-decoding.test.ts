import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { extractInProcess } from './extract-in-process.js';
import { resolveExtractionLimits } from './extraction-limits.js';
import { decodeText } from './text-decoding.js';

const japanese =
  '日本国民は、正当に選挙された国会における代表者を通じて行動し、われらとわれらの子孫のために、諸国民との協和による成果と、' +
  'わが国全土にわたつて自由のもたらす恵沢を確保する。カタカナのテキストとＡＢＣ１２３も含む。\n\n第二段落です。';
const english = 'Plain ASCII text with a café and naïve résumé.';

function withBom(bom: number[], body: Buffer): Uint8Array {
  return new Uint8Array([...bom, ...body]);
}

describe('decodeText', () => {
  it.each([
    ['Shift_JIS', 'shift_jis', 'Shift_JIS'],
    ['EUC-JP', 'euc-jp', 'EUC-JP'],
  ] as const)('detects %s without any declaration', (_name, expected, iconvName) => {
    const decoded = decodeText(new Uint8Array(iconv.encode(japanese, iconvName)));
    expect(decoded.encoding).toBe(expected);
    expect(decoded.text).toBe(japanese);
  });

  it('tells Shift_JIS and EUC-JP apart on short text too', () => {
    expect(decodeText(new Uint8Array(iconv.encode('東京都の天気は晴れです。', 'EUC-JP'))).encoding).toBe(
      'euc-jp',
    );
    expect(decodeText(new Uint8Array(iconv.encode('東京都の天気は晴れです。', 'Shift_JIS'))).encoding).toBe(
      'shift_jis',
    );
  });

  it.each([
    ['UTF-16LE with BOM', withBom([0xff, 0xfe], iconv.encode(japanese, 'utf-16le')), 'utf-16le'],
    ['UTF-16BE with BOM', withBom([0xfe, 0xff], iconv.encode(japanese, 'utf-16be')), 'utf-16be'],
    ['UTF-16LE without BOM', new Uint8Array(iconv.encode(japanese, 'utf-16le')), 'utf-16le'],
    ['UTF-16BE without BOM', new Uint8Array(iconv.encode(japanese, 'utf-16be')), 'utf-16be'],
    ['UTF-8 with BOM', withBom([0xef, 0xbb, 0xbf], Buffer.from(japanese, 'utf8')), 'utf-8'],
    ['UTF-8 without BOM', new Uint8Array(Buffer.from(japanese, 'utf8')), 'utf-8'],
  ] as const)('decodes Japanese %s', (_name, bytes, expected) => {
    const decoded = decodeText(bytes);
    expect(decoded.encoding).toBe(expected);
    expect(decoded.text).toBe(japanese);
  });

  it('decodes English UTF-16LE without a BOM', () => {
    const decoded = decodeText(new Uint8Array(iconv.encode(english, 'utf-16le')));
    expect(decoded).toEqual({ text: english, encoding: 'utf-16le', lossy: false });
  });

  it('decodes ASCII-only UTF-16 without a BOM, which is also valid UTF-8 full of NUL bytes', () => {
    const ascii = 'Plain ASCII only, as Windows tools write it.';
    for (const encoding of ['utf-16le', 'utf-16be'] as const)
      expect(decodeText(new Uint8Array(iconv.encode(ascii, encoding)))).toEqual({
        text: ascii,
        encoding,
        lossy: false,
      });
  });

  it('keeps UTF-8 with a stray NUL as UTF-8', () => {
    const text = `${japanese.repeat(2)}\u0000${english}`;
    expect(decodeText(new Uint8Array(Buffer.from(text, 'utf8')))).toEqual({
      text,
      encoding: 'utf-8',
      lossy: false,
    });
  });

  it('reads Windows-1252 text that is not valid UTF-8', () => {
    const decoded = decodeText(new Uint8Array(iconv.encode(`${english} Price: 10€.`, 'windows-1252')));
    expect(decoded.encoding).toBe('windows-1252');
    expect(decoded.text).toBe(`${english} Price: 10€.`);
  });

  it('replaces a few invalid bytes in UTF-8 text instead of failing', () => {
    const good = Buffer.from(
      'A long enough line of UTF-8 text, with 日本語 in it, and one broken byte here: ',
      'utf8',
    );
    const decoded = decodeText(new Uint8Array([...good, 0xff, ...Buffer.from(' and more text after it.')]));
    expect(decoded.encoding).toBe('utf-8');
    expect(decoded.lossy).toBe(true);
    expect(decoded.text).toContain('日本語');
    expect(decoded.text).toContain('\ufffd and more text after it.');
  });

  it('keeps going after a BOM when the rest is damaged', () => {
    const decoded = decodeText(withBom([0xef, 0xbb, 0xbf], Buffer.from([0x61, 0xff, 0x62])));
    expect(decoded).toEqual({ text: 'a\ufffdb', encoding: 'utf-8', lossy: true });
  });
});

describe('text documents in legacy encodings', () => {
  const limits = resolveExtractionLimits();

  it('extracts a Shift_JIS Markdown file with its headings', async () => {
    const markdown = '# 規程\n\n## 第一条\n\n社員は、就業規則を守らなければならない。\n';
    const doc = await extractInProcess(
      new Uint8Array(iconv.encode(markdown, 'Shift_JIS')),
      { filename: 'rules.md' },
      limits,
    );
    expect(doc.mediaType).toBe('text/markdown');
    expect(doc.text).toBe('規程\n\n第一条\n\n社員は、就業規則を守らなければならない。');
    expect(doc.sections).toEqual([
      { start: 0, end: doc.text.length, page: null, headingPath: ['規程', '第一条'] },
    ]);
  });

  it('applies NFKC: half-width katakana and full-width Latin become their standard forms', async () => {
    const doc = await extractInProcess(
      new Uint8Array(iconv.encode('ﾃｽﾄ ＡＢＣ１２３　です', 'EUC-JP')),
      {},
      limits,
    );
    expect(doc.text).toBe('テスト ABC123 です');
  });
});

describe('Chinese, Korean and Cyrillic legacy encodings', () => {
  const limits = resolveExtractionLimits();
  // Realistic paragraphs: detection works on byte statistics, which a word or two does not give (see README).
  const paragraphs = {
    simplifiedChinese:
      '我们在这个季度完成了新系统的设计和测试工作。项目组成员每周开会讨论进度，并及时解决遇到的问题。' +
      '下个月将开始在北京和上海的分公司试点运行，预计年底前全面推广。',
    traditionalChinese:
      '我們在這個季度完成了新系統的設計和測試工作。項目組成員每週開會討論進度，並及時解決遇到的問題。' +
      '下個月將開始在台北和高雄的分公司試點運行，預計年底前全面推廣。',
    korean:
      '우리는 이번 분기에 새로운 시스템의 설계와 시험을 마쳤습니다. 프로젝트 팀원들은 매주 회의를 열어 진행 상황을 ' +
      '논의하고 문제를 빠르게 해결했습니다. 다음 달부터 서울과 부산 지사에서 시범 운영을 시작할 예정입니다.',
    russian:
      'В этом квартале мы завершили проектирование и испытания новой системы. Участники проекта каждую неделю ' +
      'обсуждали ход работ и быстро решали возникающие проблемы. В следующем месяце начнётся пробная эксплуатация ' +
      'в филиалах в Москве и Новосибирске.',
  };
  const cases = [
    ['GB18030', 'gb18030', paragraphs.simplifiedChinese, 'gb18030'],
    // GBK is a subset of GB18030, which decodes it.
    ['GBK', 'gbk', paragraphs.simplifiedChinese, 'gb18030'],
    ['Big5', 'big5', paragraphs.traditionalChinese, 'big5'],
    ['EUC-KR', 'euc-kr', paragraphs.korean, 'euc-kr'],
    ['Windows-1251', 'windows-1251', paragraphs.russian, 'windows-1251'],
  ] as const;

  it.each(cases)('decodes a %s text file', async (_name, iconvName, paragraph, expected) => {
    const text = `${paragraph}\n\n${paragraph.slice(0, 40).trim()}`;
    const bytes = new Uint8Array(iconv.encode(text, iconvName));
    const decoded = decodeText(bytes);
    expect(decoded).toEqual({ text, encoding: expected, lossy: false });
    const doc = await extractInProcess(bytes, { filename: 'notes.txt' }, limits);
    expect(doc.text).toBe(text.normalize('NFKC'));
  });

  it.each(cases)('decodes a %s CSV file', async (_name, iconvName, paragraph) => {
    const sentences = paragraph.split(/(?<=[。.])\s*/).filter(Boolean);
    const csv = `id,text\n${sentences.map((sentence, index) => `${index + 1},"${sentence}"`).join('\n')}\n`;
    const doc = await extractInProcess(
      new Uint8Array(iconv.encode(csv, iconvName)),
      { filename: 'rows.csv' },
      limits,
    );
    expect(doc.mediaType).toBe('text/csv');
    expect(doc.text).toBe(
      ['id | text', ...sentences.map((sentence, index) => `${index + 1} | ${sentence}`)]
        .join('\n')
        .normalize('NFKC'),
    );
  });
});
