import highsLoader from 'highs';
const highs = await highsLoader();
const lp = `Maximize
 obj: x1 + 2 x2
Subject To
 c1: x1 + x2 <= 3
Bounds
 0 <= x1 <= 2
Binary
 x2
End`;
const s = highs.solve(lp, { time_limit: 1 });
console.log(s.Status, s.ObjectiveValue, JSON.stringify(s.Columns));
