// Random JSON text for tests that compare a hand-written scanner with JSON.parse.

/** Random JSON values, written with random whitespace, to compare against JSON.parse. */
export function randomValue(depth: number, random: () => number): string {
  const pick = Math.floor(random() * (depth > 3 ? 5 : 7));
  const space = () => [' ', '', '\n', '\t', '  '][Math.floor(random() * 5)]!;
  switch (pick) {
    case 0:
      return JSON.stringify(['a"b', 'x\\', 'é😀', '', '\\"', '}{][,:'][Math.floor(random() * 6)]);
    case 1:
      return ['0', '-1', '1.5e10', '123456789012345678901234', '-0', '1.0'][Math.floor(random() * 6)]!;
    case 2:
      return ['true', 'false', 'null'][Math.floor(random() * 3)]!;
    case 3:
    case 4:
      return '"' + 'q'.repeat(Math.floor(random() * 50)) + '\\\\"';
    case 5: {
      const items = Array.from({ length: Math.floor(random() * 4) }, () => space() + randomValue(depth + 1, random) + space());
      return `[${items.join(',')}]`;
    }
    default: {
      const members = Array.from({ length: Math.floor(random() * 4) }, (_, i) => `${space()}"k${i}\\""${space()}:${space()}${randomValue(depth + 1, random)}`);
      return `{${members.join(',')}}`;
    }
  }
}

export function seeded(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}
