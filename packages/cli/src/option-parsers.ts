import { InvalidArgumentError } from 'commander';

/** A commander parser for a whole number within bounds; anything else is a usage error. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!/^\s*-?\d+\s*$/.test(value) || number < min || number > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return number;
  };
}

/** "a, b,c" → ["a", "b", "c"]; an empty list is a usage error. */
export function commaList(value: string): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
  return items;
}
