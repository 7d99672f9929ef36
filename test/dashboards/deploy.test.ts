import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseConfig, SETTINGS } from "../../bin/config.js";
import { DASHBOARDS } from "../../dashboards/grafana/dashboards.js";

// The deployment example (dashboards/deploy): no Docker here, so the files are checked against each other
// and against modelwatch itself: every mounted file exists, Grafana gets the provisioning and every
// dashboard where its provider looks, Prometheus scrapes modelwatch's metrics port and loads the rules,
// modelwatch's environment is a valid configuration, and the cluster's nodes, macros and name agree.

const DEPLOY = join(import.meta.dirname, "../../dashboards/deploy");
interface Service {
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
}
interface Compose {
  services: Record<string, Service>;
}
const compose = (file: string) => parse(readFileSync(join(DEPLOY, file), "utf8"), { merge: true }) as Compose;

/** docker-compose.yml with docker-compose.cluster.yml over it, merged as Compose merges services. */
function clusterCompose(): Compose {
  const base = compose("docker-compose.yml");
  const over = compose("docker-compose.cluster.yml");
  const services: Record<string, Service> = { ...base.services };
  for (const [name, s] of Object.entries(over.services)) {
    const under = services[name] ?? {};
    services[name] = {
      ...under,
      ...s,
      environment: { ...under.environment, ...s.environment },
      volumes: [...new Set([...(under.volumes ?? []), ...(s.volumes ?? [])])],
    };
  }
  return { services };
}

const mounts = (s: Service) =>
  (s.volumes ?? [])
    .filter((v) => v.startsWith("."))
    .map((v) => {
      const [source, target] = v.split(":") as [string, string];
      return { source: resolve(DEPLOY, source), target };
    });

/** ${VAR} and ${VAR:-default} read from the environment, with the defaults Compose would apply. */
const environment = (s: Service): Record<string, string> =>
  Object.fromEntries(
    Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{\w+:-([^}]*)\}/g, "$1")]),
  );

describe("the deployment example", () => {
  it("mounts only files that exist", () => {
    for (const file of ["docker-compose.yml", "docker-compose.cluster.yml"])
      for (const [name, s] of Object.entries(compose(file).services))
        for (const m of mounts(s))
          expect(existsSync(m.source), `${file}: ${name} mounts ${m.source}`).toBe(true);
  });

  it("provisions Grafana: datasources, alert rules, and every dashboard where the provider looks", () => {
    const grafana = compose("docker-compose.yml").services.grafana as Service;
    const targets = new Map(mounts(grafana).map((m) => [m.target, m.source]));
    for (const kind of ["datasources", "dashboards", "alerting"])
      expect(targets.get(`/etc/grafana/provisioning/${kind}`)).toBe(
        resolve(DEPLOY, `../grafana/provisioning/${kind}`),
      );
    const provider = parse(
      readFileSync(join(DEPLOY, "../grafana/provisioning/dashboards/modelwatch.yaml"), "utf8"),
    ) as { providers: { options: { path: string } }[] };
    const folder = provider.providers[0]?.options.path;
    for (const file of Object.keys(DASHBOARDS))
      expect(targets.get(`${folder}/${file}`), file).toBe(resolve(DEPLOY, `../grafana/${file}`));
    expect(grafana.environment?.GF_INSTALL_PLUGINS).toContain("grafana-clickhouse-datasource");
    // Every variable the datasource file reads (outside comments) is in Grafana's environment.
    const datasources = readFileSync(
      join(DEPLOY, "../grafana/provisioning/datasources/modelwatch.yaml"),
      "utf8",
    );
    const read = datasources
      .split("\n")
      .filter((l) => !l.trim().startsWith("#"))
      .flatMap((l) => [...l.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1] as string));
    expect(read.length).toBeGreaterThan(2);
    for (const name of read) expect(grafana.environment, name).toHaveProperty(name);
  });

  it("has Prometheus scrape modelwatch's metrics port and load the alerting rules", () => {
    const { services } = compose("docker-compose.yml");
    const config = parse(readFileSync(join(DEPLOY, "prometheus.yml"), "utf8")) as {
      rule_files: string[];
      scrape_configs: { metrics_path: string; static_configs: { targets: string[] }[] }[];
    };
    const httpPort = SETTINGS.find((s) => s.flag === "http-port")?.default;
    const scrape = config.scrape_configs[0];
    expect(scrape?.metrics_path).toBe("/metrics");
    expect(scrape?.static_configs[0]?.targets).toEqual([`modelwatch:${httpPort}`]);
    expect(services.modelwatch?.environment?.MODELWATCH_HTTP_PORT).toBe(httpPort);
    const prometheus = new Map(mounts(services.prometheus as Service).map((m) => [m.target, m.source]));
    for (const rules of config.rule_files)
      expect(prometheus.get(rules)).toBe(resolve(DEPLOY, "../prometheus/modelwatch-rules.yml"));
  });

  it("gives modelwatch a valid configuration on the compose's ClickHouse, alone and as a cluster", () => {
    const single = compose("docker-compose.yml");
    const config = parseConfig({}, environment(single.services.modelwatch as Service));
    const url = new URL(config.clickhouse.url ?? "");
    expect(single.services).toHaveProperty(url.hostname);
    expect(url.port).toBe("8123");
    expect(config.clickhouse.cluster).toBeUndefined();
    expect(config.ingestTokens.length).toBe(1);

    const cluster = clusterCompose();
    const clustered = parseConfig({}, environment(cluster.services.modelwatch as Service));
    expect(clustered.clickhouse.cluster).toBe("modelwatch");
    expect(clustered.clickhouse.url).toBe(config.clickhouse.url);
  });

  it("describes one cluster: its name, nodes, shards and replicas agree with the compose file", () => {
    const xml = readFileSync(join(DEPLOY, "clickhouse/cluster/cluster.xml"), "utf8");
    const { services } = clusterCompose();
    const name = /<remote_servers>\s*<(\w+)>/.exec(xml)?.[1];
    expect(name).toBe(environment(services.modelwatch as Service).CLICKHOUSE_CLUSTER);
    const shards = [...xml.matchAll(/<shard>([\s\S]*?)<\/shard>/g)].map((m) =>
      [...(m[1] as string).matchAll(/<host>([\w-]+)<\/host>/g)].map((h) => h[1] as string),
    );
    expect(shards.map((s) => s.length)).toEqual([2, 2]);
    shards.forEach((hosts, i) => {
      for (const host of hosts) {
        const env = environment(services[host] as Service);
        expect(env.CH_SHARD, host).toBe(String(i + 1));
        expect(env.CH_REPLICA, host).toBe(host);
        expect(mounts(services[host] as Service).map((m) => m.target)).toContain(
          "/etc/clickhouse-server/config.d/cluster.xml",
        );
      }
    });
    expect(services).toHaveProperty(/<zookeeper>\s*<node><host>([\w-]+)<\/host>/.exec(xml)?.[1] as string);
  });
});
