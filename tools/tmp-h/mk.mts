import { catsAndDogs } from '../../test/helpers.ts';
await catsAndDogs(process.argv[2], Number(process.argv[3] ?? 3));
