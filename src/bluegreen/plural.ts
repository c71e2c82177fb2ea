/** A count and its noun, singular for one: plural(1, "replica") is "1 replica", plural(3, "replica") "3 replicas". */
export const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`;
